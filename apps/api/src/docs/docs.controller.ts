import { Controller, Get, Module } from '@nestjs/common';
import { openApiDocument } from './openapi';

@Controller('docs')
export class DocsController {
  private readonly document = openApiDocument();

  @Get()
  openApi() {
    return this.document;
  }
}

@Module({ controllers: [DocsController] })
export class DocsModule {}
